"""The outbox: messages to shoppers that features decide to send (loyalty, returns, chat), waiting for
their time and for the channel that delivers them."""
