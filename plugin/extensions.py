"""Per-app services, reached through proxies so that several apps can live in one process (tests).

``create_app`` builds a Database and a JobQueue for each app and stores them in ``app.extensions``;
``db`` and ``queue`` below resolve to the current app's.
"""
from flask import current_app
from flask_babel import Babel
from werkzeug.local import LocalProxy

db = LocalProxy(lambda: current_app.extensions["storecare.db"])
queue = LocalProxy(lambda: current_app.extensions["storecare.queue"])
vault = LocalProxy(lambda: current_app.extensions["storecare.vault"])
babel = Babel()
