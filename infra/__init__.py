"""The Pulumi program's modules (infra/__main__.py is the program).

A regular package, not a namespace one: a namespace package loses to any regular package named
`infra` anywhere on sys.path (a PYTHONPATH entry, another project's install), whatever comes first.
"""
