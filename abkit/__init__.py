"""abkit: A/B-testing and KPI analysis over event logs."""
