"""The example feature's storefront endpoint: a POST that acts (queues the example job) once per
Idempotency-Key, mounted under /storefront/api/v1/example/wishes and /proxy/api/v1/example/wishes."""
from marshmallow import Schema, fields, validate

from plugin.extensions import db, queue
from plugin.storefront.routes import StorefrontRoutes, current_shopper

routes = StorefrontRoutes("example")


class WishSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))


class WishMadeSchema(Schema):
    job_id = fields.Integer()
    text = fields.String()


@routes.post("/example/wishes", summary="Make a wish", body=WishSchema, response=WishMadeSchema, status=201)
def make_wish(body):
    shopper = current_shopper()
    with db.uow() as session:  # a service's transaction, inlined: the smallest example
        run = queue.enqueue(session, "example.count", {"shop_id": shopper.shop_id}, shop_id=shopper.shop_id)
        session.commit()
        return {"job_id": run.id, "text": body["text"]}
