"""The report: tables and figures from finished runs, one module per family.

cells.py and plotting.py hold what every table and every figure shares; table1.py is
Table I and the report's first page, figures.py the figures of its runs, then cost.py
(circuit executions and shot noise), extensions.py, stability.py and transfer.py. No
module here runs PennyLane: the report rules run them in an environment without it.
"""
