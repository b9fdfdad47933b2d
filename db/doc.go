// Package db will hold the SQL schema, embedded migrations for MySQL and
// SQLite, and the store the other packages use through small interfaces
// (SPEC §8). It is not built yet (issue 3); this file only reserves the
// package in the layout.
package db
