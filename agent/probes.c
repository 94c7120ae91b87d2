/*
 * probes.c - the table of probes.  A policy's "probe" key names one of
 * these; the order here is the order of the policy reference.
 */
#include <string.h>

#include "probe.h"

extern const struct probe probe_file;
extern const struct probe probe_file_content;
extern const struct probe probe_keyvalue;
extern const struct probe probe_sshd_config;
extern const struct probe probe_accounts;
extern const struct probe probe_sudoers;
extern const struct probe probe_pam;
extern const struct probe probe_sysctl;
extern const struct probe probe_fsscan;
extern const struct probe probe_backup_age;
extern const struct probe probe_backup_size;
extern const struct probe probe_backup_schedule;
extern const struct probe probe_backup_secrets;
extern const struct probe probe_pkg_updates;
extern const struct probe probe_pkg_security_updates;
extern const struct probe probe_pkg_installed;
extern const struct probe probe_pkg_min_version;
extern const struct probe probe_apt_lists_age;
extern const struct probe probe_unattended_upgrades;
extern const struct probe probe_reboot_required;
extern const struct probe probe_kernel_current;
extern const struct probe probe_pkg_last_upgrade;

static const struct probe *const table[] = {
	&probe_file,
	&probe_file_content,
	&probe_keyvalue,
	&probe_sshd_config,
	&probe_accounts,
	&probe_sudoers,
	&probe_pam,
	&probe_sysctl,
	&probe_fsscan,
	&probe_backup_age,
	&probe_backup_size,
	&probe_backup_schedule,
	&probe_backup_secrets,
	&probe_pkg_updates,
	&probe_pkg_security_updates,
	&probe_pkg_installed,
	&probe_pkg_min_version,
	&probe_apt_lists_age,
	&probe_unattended_upgrades,
	&probe_reboot_required,
	&probe_kernel_current,
	&probe_pkg_last_upgrade,
};

const struct probe *probe_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

const struct probe *const *probe_all(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
