from plugin.features import Feature, Subscriber

FEATURE = Feature(name="broken",
                  subscribers=(Subscriber("broken.on_paid", "OrderPaid", "tests.example_feature.tasks:no_such"),))
