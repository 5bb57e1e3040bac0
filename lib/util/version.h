/* version.h - postern's version, logged at start and shown by postern. */
#ifndef POSTERN_VERSION_H
#define POSTERN_VERSION_H
#define POSTERN_VERSION "0.1.0"
#endif
