"""Traffic simulator: a pure, seeded discrete-event model of a contact center
(`model.simulate`) and a thin driver that posts its events to the ingest API
(`driver.run_simulation`, `cli.main`)."""
