/* pg_array.h: one-dimensional arrays in PostgreSQL's binary format (array_recv's), built
 * in C and sent as binary parameters, so that no value is formatted as text or parsed
 * again: the PostgreSQL backend's batch writes (store_pg_ingest.c) and smserver migrate
 * (migrate.c) use them, and migrate reads them back. No libpq here: the bytes are only a
 * parameter's value. */
#ifndef SM_SMSERVER_PG_ARRAY_H
#define SM_SMSERVER_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Element types (pg_type OIDs). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_FLOAT8 701

/* An array being built: p[0..len) are its bytes once pg_array_finish ran; n elements.
 * Zero-initialised is empty; the buffer is kept between uses (pg_array_start). */
struct pg_array {
    uint8_t *p;
    size_t len, cap;
    uint32_t n, oid;
    int nulls; /* an element is NULL */
};

/* Start an empty array of element type oid (keeps the buffer). */
void pg_array_start(struct pg_array *a, uint32_t oid);
/* Append one element of size 1, 4 or 8 bytes (its bits in v, sent big-endian). */
void pg_array_add(struct pg_array *a, uint64_t v, int size);
/* Append a float8 (its IEEE 754 bits). */
void pg_array_add_f64(struct pg_array *a, double d);
/* Append a variable-length element (text or bytea): n bytes of b, copied. */
void pg_array_add_bytes(struct pg_array *a, const void *b, size_t n);
/* Append a NULL element. */
void pg_array_add_null(struct pg_array *a);
/* Fill in the header (an empty array is one of no dimensions); then p[0..len) is the
 * parameter's value. */
void pg_array_finish(struct pg_array *a);
/* Free the buffer; the array is empty again. */
void pg_array_free(struct pg_array *a);

/* Reading PostgreSQL's binary values back (smserver migrate checks what it wrote). */
/* An unsigned big-endian integer of size bytes (an int8 or int4 result column). */
uint64_t pg_get_be(const uint8_t *p, int size);
/* The elements of a one-dimensional binary array of 8-byte elements (int8 or float8),
 * their bits into out[0..*n) (grown, *cap its capacity); 0, or -1 when p[0..len) is not
 * one (a NULL element included). */
int pg_array_read8(const uint8_t *p, size_t len, uint64_t **out, size_t *cap, size_t *n);

#endif
