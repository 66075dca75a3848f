"""Two subscribers that write down what they handled, in the handler's own transaction."""
from plugin.features import Feature, Subscriber

FEATURE = Feature(
    name="event_probe",
    events=("ProbeSaw",),
    subscribers=(
        Subscriber("probe.orders", ("OrderPaid", "OrderRefunded", "OrderFulfilled", "OrderCancelled"),
                   "tests.event_probe.handlers:saw_order"),
        Subscriber("probe.paid", "OrderPaid", "tests.event_probe.handlers:saw_paid"),
    ),
)
