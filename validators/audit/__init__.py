"""`infralens audit`: the whole corpus at once, for editors.

One stage per module: ``inventory`` counts what is there, ``guarantees`` turns the
findings of the same checks `infralens check` runs into one status per lab and
guarantee, ``execution_status`` reads the execution cache, ``consistency`` finds what
no single-file check can see, ``citations`` measures citation health, ``build``
assembles the ``model.Audit``, and ``render`` writes it as terminal tables, Markdown,
JSON or one self-contained HTML file.
"""
