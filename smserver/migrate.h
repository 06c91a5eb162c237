/* migrate.h: smserver migrate, which copies a SQLite database into PostgreSQL
 * (migrate.c). */
#ifndef SM_SMSERVER_MIGRATE_H
#define SM_SMSERVER_MIGRATE_H

/* Run "migrate" with argv[0] = "migrate"; returns the exit code (usage errors exit 2
 * from inside). Main thread. */
int migrate_main(int argc, char **argv);

#endif
