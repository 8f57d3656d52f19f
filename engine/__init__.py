"""Herald's domain: planning, selection, risk, safety, dispatch and fusion, behind ports."""
