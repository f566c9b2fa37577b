#!/usr/bin/env bash
# A short, realistic session against a throw-away database. Run with `make demo`.
set -euo pipefail
DEMO_DIR="$(mktemp -d)"
trap 'rm -rf "$DEMO_DIR"' EXIT
export DRP_DB="$DEMO_DIR/demo.sqlite3"
export DRP_USER="Sam Patel (IRO)"
export DRP_PROTOCOLS="$DEMO_DIR/no-user-protocols"
export COLUMNS="${COLUMNS:-110}"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

say drp protocols
say drp open --protocol knowsley --child KN-2231 --category statutory --issue no-social-worker \
    --summary "No allocated social worker since the LAC review on 20 February." \
    --impact "Statutory visits missed; Jay has not been seen alone for 9 weeks." \
    --recommended "1. Allocate a social worker by 7 March. 2. Statutory visit within 5 working days of allocation." \
    --on 2025-03-03
say drp voice 1 wishes-sought --text "Jay spoken to alone at the review; wants a worker who visits." --on 2025-03-03
say drp action add 1 --text "Allocate a social worker" --owner "Team Manager" --due 2025-03-07 --on 2025-03-03
say drp person add 1 --kind professional --name "Alex Brown" --role "Team Manager" \
    --organisation "Knowsley Children's Services" --contact "0151 000 0000" --on 2025-03-03
say drp alert 1 --on 2025-03-03
say drp escalate 1 --note "No response from the Team Manager." --on 2025-03-11
say drp respond 1 --from "Head of Service" --text "Worker to be allocated from 24 March." --on 2025-03-14
say drp open --protocol west-sussex --child WS-0457 --category care-plan --issue plan-not-implemented \
    --summary "Sibling contact in the care plan has not happened for 3 months." \
    --stage stage-1 --on 2025-03-05
say drp open --protocol sbc-fciro --carer SB-1189 --category service --role fciro \
    --summary "Foster carers' annual review overdue; placement support plan not agreed." --on 2025-03-10
say drp refer 2 --senior-officer "Group Manager, Safeguarding and Independent Review" \
    --notified-on 2025-03-12 --curtailed "Placement move planned within weeks." \
    --text "Contact has stopped and the move would end it; the child cannot wait for Stages 2-4." --on 2025-03-13
say drp bundle 2 -o "$DEMO_DIR/bundle-WS-0457" --on 2025-03-14
say ls "$DEMO_DIR/bundle-WS-0457"
say drp escalate 3 --on 2025-03-12
say drp retract 3 2 --reason "Escalated the wrong concern." --on 2025-03-12
say drp staff add "Priya Shah" --team "IRO North" --role iro
say drp assign 2 --to "priya shah" --reason "Sam on leave until 2 June." --on 2025-03-14
say drp list --on 2025-03-21
say drp show 1 --on 2025-03-21
printf '\n\033[1m$ drp overdue --on 2025-03-21 --owner "Priya Shah"\033[0m\n'
drp overdue --on 2025-03-21 --owner "Priya Shah" || true
printf '\n\033[1m$ drp overdue --on 2025-03-21 --within 3\033[0m\n'
status=0
drp overdue --on 2025-03-21 --within 3 || status=$?
echo "(exit status $status: 1 means something is overdue, for cron and scripts)"
