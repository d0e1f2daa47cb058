"""Errors that reach the user as one clear line (file, field, value), never a traceback."""


class UserError(Exception):
    """Bad input from a user, a file, a config, model output or an endpoint."""


class ConfigError(UserError):
    """A config file or override that does not fit the config's dataclass."""


class DataError(UserError):
    """A data file (JSONL, PDDL, plan, CSV) that cannot be read as promised."""


class BackendError(UserError):
    """A model backend that cannot answer: bad URL, auth, missing model, timeout."""
