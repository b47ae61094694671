"""Transports: one small interface (`base.Gateway`) for every way an SMS leaves or arrives.

No Django here: a gateway knows nothing of the database. The worker hands it outbound
messages and turns the events it emits into rows through the services.
"""
