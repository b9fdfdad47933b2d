// Package dbtest opens real, throw-away authgw databases for tests: a
// SQLite file in the test's temporary directory and a fresh MariaDB (or
// MySQL) database that is dropped when the test ends. Store tests run the
// same body against both with Each.
//
// The MariaDB server comes from AUTHGW_TEST_MYSQL_DSN, a go-sql-driver
// DSN without the "mysql:" prefix (default root@tcp(127.0.0.1:3306)/);
// any database it names is replaced by authgw_test_<random hex>. When
// the server cannot be reached the test is skipped, unless the CI
// environment variable is set: then it fails.
package dbtest
