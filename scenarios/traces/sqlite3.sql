-- The workload of the trace-sqlite3 scenario (see README.md): an in-memory table
-- of 20000 rows with blobs of 16 to 615 bytes, two indexes, a GROUP BY, an UPDATE
-- that doubles a third of the blobs, a DELETE of 30% of the rows, a sort and a
-- group_concat.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, body BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO item SELECT x, printf('item-%06d-%s', (x * 7919) % 20011, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26)),
                        x % 97, zeroblob(16 + (x * 7919) % 600) FROM c;
CREATE INDEX item_name ON item(name);
CREATE INDEX item_grp ON item(grp);
SELECT grp, count(*), sum(length(body)) FROM item GROUP BY grp ORDER BY 3 DESC LIMIT 3;
UPDATE item SET body = zeroblob(length(body) * 2), name = name || '-v2' WHERE id % 3 = 0;
DELETE FROM item WHERE grp < 30;
SELECT count(*), max(name), sum(length(body)) FROM item;
SELECT group_concat(name, ',') IS NOT NULL FROM (SELECT name FROM item ORDER BY length(body) DESC, name LIMIT 2000);
DROP INDEX item_grp;
