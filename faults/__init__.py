"""The fault suite (`make faults`): the app's real servers on a throwaway PostgreSQL cluster of their own, under racing
commands from two servers, database restarts and outages during a load of intakes, schemathesis over the JSON API and
hostile forms; afterwards the database is checked against what every client was told. Run `python -m faults --help`."""
