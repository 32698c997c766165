"""The ``qingshan`` command line (Typer). Each sub-command group lives in its own module."""
