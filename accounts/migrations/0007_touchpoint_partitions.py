"""Touchpoints partitioned by month on PostgreSQL (accounts/partitions.py, docs/operations.md).

On PostgreSQL, accounts_touchpoint becomes a table partitioned by RANGE (occurred_at): one
partition per month (UTC) holding touches, plus a DEFAULT partition. Works on a database with data:
the new table is built beside the old one, the rows are copied in (account, occurred_at) order,
the old table is dropped and the new one takes its name, its id sequence's position, its indexes
and its foreign keys (read back from the catalog, so whatever later migrations added comes along).

A unique key on a partitioned table must include occurred_at, so:
- the primary key is (id, occurred_at); Django keeps `id` as the model's primary key (ids still
  come from one sequence, so they stay unique);
- "(source, external_id) identifies a touch" moves to accounts_touchpoint_key (primary key
  (source, external_id), named touchpoint_source_external_id_unique as the constraint it replaces),
  kept in step by statement triggers on every INSERT/COPY, UPDATE, DELETE and TRUNCATE.
The model state still declares the UniqueConstraint (it is true, and SQLite has it): a later
migration that removes or alters it must deal with the key table on PostgreSQL by hand.

The reverse builds a plain table again from the attached partitions (detached ones are not part
of the table any more and stay as they are). SQLite: nothing to do either way.

The SQL is written out here rather than imported, so the migration keeps meaning what it meant.
"""

from django.db import migrations

TABLE = "accounts_touchpoint"
KEYS = "accounts_touchpoint_key"
UNIQUE = "touchpoint_source_external_id_unique"

TRIGGERS = f"""
CREATE FUNCTION {KEYS}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {KEYS} (source, external_id, touchpoint_id, occurred_at)
    SELECT source, external_id, id, occurred_at FROM new_rows;
    RETURN NULL;
END $$;
CREATE FUNCTION {KEYS}_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the rows whose key, id or month changed: an import's UPDATE of kinds or scores leaves
    -- the key table alone.
    DELETE FROM {KEYS} k USING old_rows o
    WHERE k.source = o.source AND k.external_id = o.external_id AND k.touchpoint_id = o.id
      AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND n.source = o.source
                      AND n.external_id = o.external_id AND n.occurred_at = o.occurred_at);
    INSERT INTO {KEYS} (source, external_id, touchpoint_id, occurred_at)
    SELECT n.source, n.external_id, n.id, n.occurred_at FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE n.id = o.id AND n.source = o.source
                      AND n.external_id = o.external_id AND n.occurred_at = o.occurred_at);
    RETURN NULL;
END $$;
CREATE FUNCTION {KEYS}_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {KEYS} k USING old_rows o
    WHERE k.source = o.source AND k.external_id = o.external_id AND k.touchpoint_id = o.id;
    RETURN NULL;
END $$;
CREATE FUNCTION {KEYS}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {KEYS};
    RETURN NULL;
END $$;
CREATE TRIGGER {KEYS}_insert AFTER INSERT ON {TABLE} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {KEYS}_insert();
CREATE TRIGGER {KEYS}_update AFTER UPDATE ON {TABLE} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {KEYS}_update();
CREATE TRIGGER {KEYS}_delete AFTER DELETE ON {TABLE} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {KEYS}_delete();
CREATE TRIGGER {KEYS}_truncate AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {KEYS}_truncate();
"""


def _relkind(cur, name):
    cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [name])
    row = cur.fetchone()
    return row[0] if row else None


def _schema(cur, table):
    """The table's indexes (not those behind constraints) and foreign keys, as SQL to replay."""
    cur.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) "
        "ORDER BY i.indexrelid",
        [table],
    )
    # A partitioned table's own index prints as "ON ONLY": replayed on a table, it builds all of it.
    indexes = [r[0].replace(" ON ONLY ", " ON ") for r in cur.fetchall()]
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f' AND conparentid = 0 ORDER BY conname",
        [table],
    )
    foreign_keys = [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
                    for name, definition in cur.fetchall()]
    return indexes, foreign_keys


def _sequence_state(cur, table):
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cur.fetchone()[0]
    cur.execute(f"SELECT last_value, is_called FROM {sequence}")
    return cur.fetchone()


def _rebuild(cur, *, partitioned):
    """Build the other shape of the table beside it, move the rows, and swap the names."""
    new = f"{TABLE}_rebuilt"
    # Foreign-key checks still queued in this transaction would keep the old table from being dropped.
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    indexes, foreign_keys = _schema(cur, TABLE)
    last_value, is_called = _sequence_state(cur, TABLE)
    by = " PARTITION BY RANGE (occurred_at)" if partitioned else ""
    cur.execute(f'CREATE TABLE "{new}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING IDENTITY '
                f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS){by}")
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [TABLE],
    )
    columns = ", ".join(f'"{r[0]}"' for r in cur.fetchall())
    if partitioned:
        cur.execute(f"CREATE TABLE \"{TABLE}_default\" PARTITION OF \"{new}\" DEFAULT")
        cur.execute(f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM \"{TABLE}\"")
        for (month,) in sorted(cur.fetchall()):
            following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
            cur.execute(f'CREATE TABLE "{TABLE}_p{month.year:04d}_{month.month:02d}" PARTITION OF "{new}" '
                        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
                        f"TO ('{following.isoformat()} 00:00:00+00')")
    cur.execute(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{TABLE}" ORDER BY account_id, occurred_at')
    if partitioned:
        cur.execute(f'CREATE TABLE "{KEYS}" (source text NOT NULL, external_id text NOT NULL, '
                    f"touchpoint_id bigint NOT NULL, occurred_at timestamp with time zone NOT NULL)")
        cur.execute(f'INSERT INTO "{KEYS}" SELECT source, external_id, id, occurred_at FROM "{TABLE}"')
        cur.execute(f'DROP TABLE "{TABLE}"')
    else:
        cur.execute(f'DROP TABLE "{TABLE}"')  # its partitions and triggers go with it
        cur.execute(f'DROP TABLE "{KEYS}"')
        for op in ("insert", "update", "delete", "truncate"):
            cur.execute(f"DROP FUNCTION {KEYS}_{op}()")
    cur.execute(f'ALTER TABLE "{new}" RENAME TO "{TABLE}"')
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    sequence = cur.fetchone()[0]
    cur.execute(f"ALTER SEQUENCE {sequence} RENAME TO {TABLE}_id_seq")
    cur.execute(f"SELECT setval('{TABLE}_id_seq', %s, %s)", [last_value, is_called])
    if partitioned:
        cur.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id, occurred_at)')
        cur.execute(f'ALTER TABLE "{KEYS}" ADD CONSTRAINT "{UNIQUE}" PRIMARY KEY (source, external_id)')
        cur.execute(TRIGGERS)
    else:
        cur.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id)')
        cur.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{UNIQUE}" UNIQUE (source, external_id)')
    for statement in (*indexes, *foreign_keys):
        cur.execute(statement)
    cur.execute(f'ANALYZE "{TABLE}"')


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        if _relkind(cur, TABLE) != "p":
            _rebuild(cur, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        if _relkind(cur, TABLE) == "p":
            _rebuild(cur, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sales_activity"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
