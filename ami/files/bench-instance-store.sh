#!/bin/bash
# Formats and mounts the instance's NVMe instance store on /work, where benchmark jobs get
# their workspace (/work/run in the container). Runs at every boot, before Docker: the
# instance store is blank after every stop/start. Several devices become one RAID 0.
# Without an instance store /work stays on the (large) root volume.
set -euo pipefail

mount_point=/work
mkdir -p "$mount_point"
if mountpoint -q "$mount_point"; then
  exit 0
fi

mapfile -t devices < <(lsblk -dnpo NAME,MODEL | awk '/Amazon EC2 NVMe Instance Storage/ {print $1}')
case ${#devices[@]} in
  0)
    echo "no NVMe instance store: $mount_point stays on the root volume" >&2
    exit 0
    ;;
  1)
    device=${devices[0]}
    ;;
  *)
    device=/dev/md0
    mdadm --create "$device" --run --level=0 --raid-devices="${#devices[@]}" "${devices[@]}"
    ;;
esac

mkfs.xfs -f -K "$device"
mount -o noatime "$device" "$mount_point"
echo "mounted $device (${devices[*]}) on $mount_point" >&2
