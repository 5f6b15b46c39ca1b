"""HHPU Platform command line and single-process mode."""
