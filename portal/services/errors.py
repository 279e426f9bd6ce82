"""Domain exceptions raised by services; views turn them into pages."""


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""


class InvalidInputError(ServiceError):
    """The input breaks a rule; the message says which, in words fit for the person who typed it."""


class AlreadyExistsError(ServiceError):
    """A unique thing (a username, say) is already taken."""


class NotFoundError(ServiceError):
    """What was asked for does not exist (or the asker may not know that it does)."""
