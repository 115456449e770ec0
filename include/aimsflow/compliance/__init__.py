"""What compliance staff look at: the Statement of Applicability, the crosswalk to other frameworks,
and the one computation of coverage that the CLI, the report and the UI render."""
