"""Errors that become clear HTTP answers (docs/api.md#errors)."""


class ApiError(Exception):
    """An answer for the caller: status, machine code, message, optional field, and (when the
    field takes one of a few values) the values it takes."""

    def __init__(self, status, code, message, field=None, allowed=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.allowed = allowed

    def body(self):
        error = {'code': self.code, 'message': self.message}
        if self.field:
            error['field'] = self.field
        if self.allowed is not None:
            error['allowed'] = list(self.allowed)
        return {'error': error}


def invalid(message, field=None, allowed=None):
    return ApiError(400, 'invalid_request', message, field, allowed)


def not_found(message):
    return ApiError(404, 'not_found', message)


def conflict(code, message):
    return ApiError(409, code, message)


class ProviderError(Exception):
    """The provider refused or failed a call we made; `retryable` when it is safe to retry."""

    def __init__(self, message, code=None, retryable=False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable
