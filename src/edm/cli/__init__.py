"""The ``edm`` command: a thin shell over the library (parse, call, render)."""
