"""The CLI's errors: one line for a person, an exit code for a script."""


class CliError(Exception):
    """Something the user should read in one line; exit code 1."""
    exit_code = 1


class UsageProblem(CliError):
    """The command was asked for something it cannot do as given; exit code 2."""
    exit_code = 2
