"""What the tests, the benchmarks and the fault suite share: a small world of users and units, and real `ssz serve`
processes on one database. It is not part of the application (nothing under domain/, application/, infrastructure/
or web/ imports it) and lives outside tests/ and bench/ so that each may import it without importing the other."""
