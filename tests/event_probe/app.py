"""``flask --app tests.event_probe.app worker``: the app with the probe installed after its own features."""
from plugin import create_app as create_storecare
from plugin.features import install_features


def create_app():
    app = create_storecare()
    install_features(app, ("tests.event_probe",))
    return app
