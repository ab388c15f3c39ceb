"""`make chaos`: the whole stack under simulated traffic while its processes are killed and
its servers restarted; then the log, the live tables and the read models are checked."""
