
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Which package names an install takes: a name with an optional version
 * (pip's PEP 508 name, extras and comparisons; npm's optionally scoped
 * name and a range or tag), never an option, a path, a URL, a VCS spec or
 * an archive: the installer has network and a workspace the user fills.
 */


#ifndef SBX_INSTALL_NAMES_H
#define SBX_INSTALL_NAMES_H


/* Whether spec is a package manager ("pip" or "npm") installs by name. */
int sbx_install_name_ok(const char *manager, const char *spec);


#endif /* SBX_INSTALL_NAMES_H */
