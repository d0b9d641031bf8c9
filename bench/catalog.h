/* The fleet simulator's world: real-world Windows programs, hardware, OS
 * builds with their cumulative updates, processes, network peers, files and
 * people. Read-only static tables; safe from any thread.
 *
 * Templates: "{v}" is replaced by the version's name form, "{u}" by the
 * profile folder of the device's main user, "{h}" by the hostname, "{d}" by
 * the NetBIOS domain, "{r}" by a few random hex digits chosen per event. */
#ifndef BENCH_CATALOG_H
#define BENCH_CATALOG_H

#include <stddef.h>

/* Device profiles: which programs, processes and files a device has. */
enum {
    PROF_OFFICE = 1,
    PROF_DEV = 2,
    PROF_SERVER = 4,
    PROF_WS = PROF_OFFICE | PROF_DEV,
    PROF_ALL = PROF_OFFICE | PROF_DEV | PROF_SERVER,
};

/* The schema's software "source" enum, in its order. */
enum { SRC_MSI, SRC_REGISTRY, SRC_STORE, SRC_WINGET, SRC_CHOCO, SRC_OTHER };
extern const char *const catalog_source_names[6];

#define CATALOG_MAX_VERSIONS 5

/* One installable product. A product may also bring component entries
 * (e.g. Python's "Core Interpreter", Visual Studio's workloads), which share
 * its version and publisher, as Windows' Uninstall key lists them. */
typedef struct {
    const char *name;      /* DisplayName template ({v}) */
    const char *publisher; /* Publisher */
    /* "display" or "display|name form", oldest first, NULL-terminated. */
    const char *versions[CATALOG_MAX_VERSIONS + 1];
    const char *location;   /* InstallLocation template ({u}, {v}); NULL: omitted */
    const char *components; /* NULL or "name;name;..." templates ({v}) */
    unsigned char source;   /* SRC_* */
    unsigned char profiles; /* PROF_* mask */
    unsigned char percent;  /* chance on a device of a matching profile; 100: always */
    const char *oem;        /* only on hardware of this manufacturer; NULL: any */
} catalog_product_t;

extern const catalog_product_t catalog_products[];
extern const size_t catalog_product_count;

/* One OS servicing step: build.UBR, its cumulative update and release date. */
typedef struct {
    const char *build; /* "22631.4460" */
    const char *kb;    /* "KB5046633" */
    const char *date;  /* "2024-11-12" */
} catalog_build_t;

typedef struct {
    const char *name;              /* "Microsoft Windows 11 Enterprise" */
    const char *version;           /* "10.0.22631" */
    unsigned char profiles;        /* PROF_WS or PROF_SERVER */
    unsigned char percent;         /* relative weight within the profile */
    unsigned char arm64;           /* 1: also ships for arm64 */
    const catalog_build_t *builds; /* oldest first, terminated by build == NULL */
    const char *const *extra_kbs;  /* "KB…|Description|YYYY-MM-DD", NULL-terminated */
} catalog_os_t;

extern const catalog_os_t catalog_os[];
extern const size_t catalog_os_count;

enum { HW_LAPTOP, HW_DESKTOP, HW_SERVER, HW_VM };
enum {
    SERIAL_DELL,
    SERIAL_HP,
    SERIAL_LENOVO,
    SERIAL_SURFACE,
    SERIAL_VMWARE,
    SERIAL_HYPERV,
    SERIAL_HPE,
    SERIAL_JUNK
};

typedef struct {
    const char *manufacturer;
    const char *model;
    const char *cpu_model;
    unsigned short cpu_cores;
    unsigned char kind;         /* HW_* */
    unsigned char serial_style; /* SERIAL_* */
    unsigned char arm64;        /* 1: arm64 OS */
    unsigned char percent;      /* relative weight within the kind's profile */
    const char *mac_oui;        /* "D0-94-66" */
    unsigned char mem_gib[4];   /* choices, 0 = unused */
} catalog_hw_t;

extern const catalog_hw_t catalog_hw[];
extern const size_t catalog_hw_count;

/* Who runs a process. */
enum { RUN_SYSTEM, RUN_LOCAL_SERVICE, RUN_NETWORK_SERVICE, RUN_USER, RUN_SQL, RUN_IIS };

/* What network activity a process shows. */
enum {
    NET_NONE,
    NET_WEB,        /* HTTPS (and some HTTP) to public services */
    NET_DNS,        /* UDP 53 to the domain's DNS server */
    NET_SMB,        /* TCP 445 to a file server */
    NET_RDP_OUT,    /* TCP 3389 to a server */
    NET_LISTEN_SMB, /* System listening on 445 */
    NET_LISTEN_RDP, /* TermService listening on 3389 */
    NET_SQL,        /* listening on 1433 and serving clients */
    NET_IIS,        /* listening on 80/443 and serving clients */
    NET_SSH,        /* TCP 22 to a Linux host */
};

typedef struct {
    const char *name;       /* image name */
    const char *path;       /* template ({u}) */
    const char *cmdline;    /* template ({u}, {h}, {r}) */
    unsigned char run_as;   /* RUN_* */
    unsigned char profiles; /* PROF_* mask */
    unsigned char percent;  /* relative frequency */
    unsigned char net;      /* NET_* */
} catalog_proc_t;

extern const catalog_proc_t catalog_procs[];
extern const size_t catalog_proc_count;

/* Public peers for NET_WEB: first two octets and a typical port. */
typedef struct {
    unsigned char a, b;
    unsigned short port;
} catalog_peer_t;

extern const catalog_peer_t catalog_web_peers[];
extern const size_t catalog_web_peer_count;

enum { FOP_CREATE, FOP_WRITE, FOP_REMOVE, FOP_RENAME };
extern const char *const catalog_file_op_names[4];

typedef struct {
    unsigned char op;       /* FOP_* */
    unsigned char profiles; /* PROF_* mask */
    const char *path;       /* template ({u}, {r}, {f} = a document name) */
    const char *old_path;   /* for FOP_RENAME; template */
    unsigned int max_kib;   /* size range upper bound; 0: no size */
} catalog_file_t;

extern const catalog_file_t catalog_files[];
extern const size_t catalog_file_count;
extern const char *const catalog_documents[];
extern const size_t catalog_document_count;

/* People: account names (some non-ASCII, as AD allows). */
extern const char *const catalog_first_names[];
extern const size_t catalog_first_name_count;
extern const char *const catalog_last_names[];
extern const size_t catalog_last_name_count;

/* Tenants' directories: DNS domain and NetBIOS name. */
typedef struct {
    const char *dns;
    const char *netbios;
} catalog_domain_t;

extern const catalog_domain_t catalog_domains[];
extern const size_t catalog_domain_count;

/* Hostname prefixes: departments for workstations, roles for servers. */
extern const char *const catalog_departments[];
extern const size_t catalog_department_count;
extern const char *const catalog_server_roles[];
extern const size_t catalog_server_role_count;

#endif
