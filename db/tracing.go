package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Option changes how Open opens the database.
type Option func(*options)

type options struct {
	tracer trace.Tracer
}

// WithTracing makes a span for each statement, transaction start, commit
// and rollback whose context already carries a span (a request being
// traced): background work (revocation polls, snapshot refreshes,
// purges) makes no traces of its own. The spans carry the statement as
// written, with its placeholders: the values are never recorded. It
// wraps the database/sql driver, so every store method is covered
// without code of its own; without it nothing is wrapped.
func WithTracing(tp trace.TracerProvider) Option {
	return func(o *options) {
		if tp != nil {
			o.tracer = tp.Tracer("github.com/authgw/authgw/db")
		}
	}
}

// traceConnector wraps connector's connections in tracedConn when
// tracing is on; otherwise it returns connector itself.
func traceConnector(connector driver.Connector, o options, system attribute.KeyValue) driver.Connector {
	if o.tracer == nil {
		return connector
	}
	return &tracedConnector{Connector: connector, t: dbTracer{tracer: o.tracer, system: system}}
}

// dsnConnector is the driver.Connector of a driver that has none of its
// own: Connect opens dsn.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// dbTracer starts the spans of one database.
type dbTracer struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

// start starts a client span named for the operation (op, else the
// statement's first keyword), only under a span already in ctx.
func (t dbTracer) start(ctx context.Context, op, query string) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	if op == "" {
		op = operation(query)
	}
	attrs := []attribute.KeyValue{t.system, semconv.DBOperationName(op)}
	if query != "" {
		attrs = append(attrs, semconv.DBQueryText(query))
	}
	return t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// end ends span (nil when none was started), an error marking it failed;
// driver.ErrSkip is database/sql's signal to fall back, not a failure.
func end(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil && !errors.Is(err, driver.ErrSkip) {
		span.SetStatus(codes.Error, "database error")
	}
	span.End()
}

// operation is the statement's first keyword in upper case (SELECT,
// INSERT, ...), the span's name.
func operation(query string) string {
	q := strings.TrimSpace(query)
	if i := strings.IndexAny(q, " \t\n\r("); i > 0 {
		q = q[:i]
	}
	if len(q) > 16 {
		q = q[:16]
	}
	return strings.ToUpper(q)
}

type tracedConnector struct {
	driver.Connector
	t dbTracer
}

func (c *tracedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &tracedConn{Conn: conn, t: c.t}, nil
}

// tracedConn passes every optional interface database/sql looks for
// through to the driver's connection, answering as database/sql's
// fallback would where the driver lacks one.
type tracedConn struct {
	driver.Conn
	t dbTracer
}

var (
	_ driver.ConnBeginTx        = (*tracedConn)(nil)
	_ driver.ConnPrepareContext = (*tracedConn)(nil)
	_ driver.ExecerContext      = (*tracedConn)(nil)
	_ driver.QueryerContext     = (*tracedConn)(nil)
	_ driver.NamedValueChecker  = (*tracedConn)(nil)
	_ driver.SessionResetter    = (*tracedConn)(nil)
	_ driver.Validator          = (*tracedConn)(nil)
	_ driver.Pinger             = (*tracedConn)(nil)
	_ driver.Connector          = (*tracedConnector)(nil)
)

func (c *tracedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *tracedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	_, span := c.t.start(ctx, "BEGIN", "")
	var tx driver.Tx
	var err error
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.Conn.Begin() //nolint:staticcheck // the driver has only Begin
	}
	end(span, err)
	if err != nil {
		return nil, err
	}
	return &tracedTx{Tx: tx, ctx: ctx, t: c.t}, nil
}

func (c *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	ctx, span := c.t.start(ctx, "", query)
	res, err := e.ExecContext(ctx, query, args)
	end(span, err)
	return res, err
}

func (c *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	// The span covers the query until its first results are ready, not
	// the reading of the rows.
	ctx, span := c.t.start(ctx, "", query)
	rows, err := q.QueryContext(ctx, query, args)
	end(span, err)
	return rows, err
}

func (c *tracedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *tracedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *tracedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *tracedConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// tracedTx makes spans of the commit and the rollback, under the span
// the transaction began in.
type tracedTx struct {
	driver.Tx
	ctx context.Context
	t   dbTracer
}

func (tx *tracedTx) Commit() error {
	_, span := tx.t.start(tx.ctx, "COMMIT", "")
	err := tx.Tx.Commit()
	end(span, err)
	return err
}

func (tx *tracedTx) Rollback() error {
	_, span := tx.t.start(tx.ctx, "ROLLBACK", "")
	err := tx.Tx.Rollback()
	end(span, err)
	return err
}
