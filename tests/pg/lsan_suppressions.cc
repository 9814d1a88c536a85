// Linked into every DB test binary (sbc_add_pg_test). libpqxx 6.4 leaks the
// PGresult of a query that finds the connection already broken ("Could not
// obtain client encoding: not connected": the result is made after the
// throw decision and never freed) -- about 2 KB per lost connection, inside
// the library. Tests that break connections on purpose would otherwise fail
// LeakSanitizer on a leak that is not ours. Only stacks through libpqxx are
// silenced; our own leaks still fail.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpqxx-6.4.so\n";
}
