"""Every string a user reads: printout, tables, analysis text, diff, llm, HTML (+assets), plot, units."""

__all__: list = []  # the modules of this folder are imported by name
