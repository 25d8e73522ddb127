"""Running replications: ``simulate`` (build, run, check, collect) and paired replications."""
