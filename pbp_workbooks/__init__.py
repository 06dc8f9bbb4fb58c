"""pbp-workbooks: locked Excel returns for Primary Behaviour Provisions, and the LA side."""

__version__ = "0.1.0"
