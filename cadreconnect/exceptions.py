class ApplicationError(Exception):
    """A business rule refused an operation; the message is safe to show to the user.

    `code` is stable (the API returns it; clients branch on it), the message is translated.
    """

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.extra = extra or {}
