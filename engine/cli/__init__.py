"""`gt`: the command line for people, scripts and the agents themselves."""
