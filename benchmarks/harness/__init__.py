"""What the benchmarks share, one job a module, so that each benchmark script is a description of
what it measures over them:

- ``paths``: where the repository, the benchmarks and the wrk scripts are.
- ``errors``: a case that cannot be measured.
- ``processes``: a server process started, waited on until ready, and always stopped.
- ``peers``: the servers under test over HTTP, their command lines and how each says it is ready.
- ``jsonrpc``: the MCP messages the harness writes and reads itself, and the strict check of an answer.
- ``http_client``: the harness's own requests to a server: a legacy session, mocopr's ``/health``.
- ``wrk``: wrk's command line, a run of it, and what ``wrk/mcp_check.lua`` reports.
- ``cases``: a wrk case: a server started, checked strictly once, warmed up and measured.
- ``wrk_columns``: the columns of a table of wrk runs (rates, latencies, errors, CPU).
- ``loadtest``: ``mocopr loadtest``, the second load generator, and its JSON report.
- ``usage``: what a server costs: CPU time over a run, peak RSS.
- ``stats``: medians and groups of repeated runs.
- ``markdown``: tables, ratios and verdicts, reports and the sections of RESULTS.md.
- ``environment``: the machine and the software a run measured on.
- ``turns``: the repeats, the cases taking turns within each, progress and failures.
- ``options``: the command-line options that several benchmarks share.
"""
