"""What runs inside the Rasa server process: its start-up (rasa_server, with the patches of Rasa's
internals), the tracker and lock stores, the channels, the NLU component, the response generator, the
health routes and what a message does while a store is down (availability)."""
