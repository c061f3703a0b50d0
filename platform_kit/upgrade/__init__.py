"""``platform upgrade``: upgrades planned as ordered steps, each checked, applied and verified against
real state, so an interrupted upgrade resumes where it stopped (``steps``, ``eks``, ``planner``)."""
