//! Head office's handling of one pushed batch, from the bytes of the request body to the
//! decision for each op, with no storage: the JSON body, each op's payload parsed for its
//! kind, the payload and date checks, the technician-day filing, and the decision against
//! every work-order state. None of it may panic, whatever the bytes (issue 12: "no input
//! makes head office answer 5xx or panic").

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use onsite_api::{OpPayload, PushRequest};
use onsite_domain::WorkOrderStatus;
use onsite_hq::rules::{self, WorkOrderState};
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<PushRequest>(data) else {
        return;
    };
    let received: DateTime<Utc> = "2026-11-24T03:00:00Z".parse().expect("a time");
    let me = Uuid::from_u128(1);
    for op in &request.ops {
        let parsed = OpPayload::parse(&op.kind, &op.payload);
        if let Ok(p) = &parsed {
            let _ = rules::check_payload(p);
            let _ = rules::check_dates(p, received);
            let _ = rules::check_dates(p, DateTime::<Utc>::MAX_UTC);
            let _ = rules::technician_day(p);
            let _ = rules::decide_technician_day(p, received);
            let _ = p.photo_sha256s();
            let _ = p.blob_sha256();
        }
        for status in [
            WorkOrderStatus::Assigned,
            WorkOrderStatus::OnSite,
            WorkOrderStatus::InProgress,
            WorkOrderStatus::Completed,
            WorkOrderStatus::Cancelled,
        ] {
            let state = WorkOrderState {
                technician_id: Some(me),
                status,
                ever_assigned_to_op_technician: true,
            };
            let _ = rules::decide(&parsed, op.entity_id, Some(&state), me, true, received);
        }
        let _ = rules::decide(&parsed, op.entity_id, None, me, false, received);
    }
});
