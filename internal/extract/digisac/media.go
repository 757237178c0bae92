package digisac

import (
	"context"
	"slices"
	"time"

	"syncer/internal/extract"
)

// Digisac fills a media message's file.url a while after the message
// arrives, without touching its updatedAt, so the keyset walk never reads
// it again. After each pass the messages stream asks again, by id, for the
// media messages stored without a url, each on a schedule of its own that
// the warehouse keeps (5 minutes after it was sent, then an hour later,
// then a day later, then never: `syncer status` counts those).
const (
	// MediaRecheckChunk is how many ids one request asks for: about 2 KB of
	// query string, well under the 8 KB common proxies accept (500 ids made
	// 22.7 KB, and a 414 is not retried).
	MediaRecheckChunk = 50
	// MediaRecheckMax bounds how many messages one run asks for again.
	MediaRecheckMax = 5000
)

// recheck asks again for the media messages whose re-check is due. It
// moves no cursor; the merge writes only those that changed.
func (st *Incremental) recheck(ctx context.Context, req extract.Request, emit extract.Emit, now time.Time) error {
	ids, err := req.Warehouse.MediaDue(ctx, now, MediaRecheckMax)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, MediaRecheckChunk) {
		env, err := st.src.list(ctx, st.resource, map[string]any{
			"where": map[string]any{"id": map[string]any{"$in": chunk}}, "include": st.include,
			"order": [][]string{{"id", "ASC"}}, "page": 1, "perPage": len(chunk),
		})
		if err != nil {
			return err
		}
		if err := emit(ctx, extract.Page{Records: env.Data}); err != nil {
			return err
		}
		if err := req.Warehouse.MediaChecked(ctx, chunk, now); err != nil {
			return err
		}
	}
	return nil
}
