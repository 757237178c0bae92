package state

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state/statedb"
)

// FileProgress is how far the import of a file got.
type FileProgress struct {
	ImportedAt time.Time
	Rows       int64 // warehouse rows its committed parts held
	Done       int64 // records and bad lines committed
	Bad        int64 // records quarantined
	Complete   bool  // the whole file is in
}

// ImportedFile returns how far the import of the file with this SHA-256
// got for the source, and whether it was ever started.
func (s *Store) ImportedFile(ctx context.Context, src Source, sha256 string) (FileProgress, bool, error) {
	row, err := s.q.ImportedFile(ctx, statedb.ImportedFileParams{SourceID: src.ID, Sha256: sha256})
	if errors.Is(err, pgx.ErrNoRows) {
		return FileProgress{}, false, nil
	}
	if err != nil {
		return FileProgress{}, false, DBError("look up imported files", err)
	}
	return FileProgress{ImportedAt: row.ImportedAt, Rows: row.Rows, Done: row.Done, Bad: row.Bad, Complete: row.CompletedAt != nil}, true, nil
}

// ImportedFileRecord names a file in imported_files.
type ImportedFileRecord struct {
	SHA256 string
	Path   string
	Format string
	Rows   int64 // warehouse rows so far
	Done   int64 // records and bad lines so far
	Bad    int64 // records quarantined so far
}

// PutImportProgress records, in tx (the transaction of a part of the file),
// how far the import got.
func PutImportProgress(ctx context.Context, tx pgx.Tx, src Source, f ImportedFileRecord) error {
	return statedb.New(tx).PutImportProgress(ctx, statedb.PutImportProgressParams{SourceID: src.ID, Sha256: f.SHA256,
		Path: f.Path, Format: f.Format, Rows: f.Rows, Done: f.Done, Bad: f.Bad})
}

// CompleteImport records that the whole file is in: importing it again
// does nothing.
func (s *Store) CompleteImport(ctx context.Context, src Source, f ImportedFileRecord) error {
	err := s.q.CompleteImport(ctx, statedb.CompleteImportParams{SourceID: src.ID, Sha256: f.SHA256, Path: f.Path,
		Format: f.Format, Rows: f.Rows, Done: f.Done, Bad: f.Bad})
	return DBError("record the imported file", err)
}
