"""The ``scanpoint`` command line: the parser, exit codes, every command and the demo."""
