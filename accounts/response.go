package accounts

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// The response envelopes of the README's "The accounts service"; their
// shapes are package envelope's, written here through Echo.

func noStore(c echo.Context) { envelope.NoStore(c.Response().Header()) }

// single answers {"t":"single","data":...}.
func single(c echo.Context, status int, data any) error {
	noStore(c)
	return c.JSON(status, envelope.NewSingle(data))
}

// collection answers {"t":"collection","data":[...],"meta":{"pg":...}};
// a nil items is sent as [].
func collection[T any](c echo.Context, items []T, size int, info db.PageInfo) error {
	noStore(c)
	return c.JSON(http.StatusOK, envelope.NewCollection(items, envelope.Page{Size: size, NextCursor: info.Next, PrevCursor: info.Prev}))
}

// null answers {"t":"null"}.
func null(c echo.Context) error {
	noStore(c)
	return c.JSON(http.StatusOK, envelope.NewNull())
}

// pageOf reads the paging query parameters pg[size], pg[cursor] and sort.
// Lists are in creation order (keyset on UUIDv7 IDs): sort may be absent,
// "createdMs" or "id"; anything else is refused, as are a size outside
// 1..db.MaxPageSize and a malformed cursor (checked by the store).
func pageOf(c echo.Context) (db.Page, error) {
	q := c.QueryParams()
	var obs []envelope.Obstruction
	p := db.Page{Size: db.DefaultPageSize, Cursor: q.Get("pg[cursor]")}
	if s := q.Get("pg[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > db.MaxPageSize {
			obs = append(obs, envelope.Obstruction{Code: ObstructionInvalid,
				Text: "pg[size] must be an integer from 1 to " + strconv.Itoa(db.MaxPageSize) + ".", Params: map[string]any{"field": "pg[size]"}})
		} else {
			p.Size = n
		}
	}
	switch q.Get("sort") {
	case "", "createdMs", "+createdMs", "id", "+id":
	default:
		obs = append(obs, envelope.Obstruction{Code: ObstructionInvalid,
			Text: "sort may only be createdMs (lists are in creation order).", Params: map[string]any{"field": "sort"}})
	}
	if len(obs) > 0 {
		e := envelope.New(http.StatusBadRequest, CodeBadQuery, "The query has problems; see obstructions.")
		e.Obstructions = obs
		return p, e
	}
	return p, nil
}

// ref is a JSON:API-like relationship {"data":{"type","id"}}.
type ref struct {
	Data refData `json:"data"`
}

type refData struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func refTo(typ, id string) ref { return ref{Data: refData{Type: typ, ID: id}} }
