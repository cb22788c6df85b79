"""Every string a user reads: printout, tables, analysis text, diff, llm, HTML (+assets), plot, units."""
