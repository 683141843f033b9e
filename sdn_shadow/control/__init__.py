"""The controller process's own decisions and plumbing, kept out of the OS-Ken app.

`polls` (which stats request goes to which switch when), `sync` (reconcile
assembly, barriers, xids), `rounds` (the forecast, allocation and preemption
order), `reload` (a guarded configuration reload) are pure or call only the
core; `startup`, `statefile` and `watchio` hold the start sequence and the
process's side I/O. The app (`sdn_shadow.app`) only translates and sends.
"""
