#include "sbc/txn/types.h"

namespace sbc::txn {

const char* toString(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "UDP";
    case Protocol::Tcp:
      return "TCP";
    case Protocol::Tls:
      return "TLS";
  }
  return "?";
}

const char* toString(TxnKind k) {
  switch (k) {
    case TxnKind::InviteClient:
      return "invite_client";
    case TxnKind::NonInviteClient:
      return "non_invite_client";
    case TxnKind::InviteServer:
      return "invite_server";
    case TxnKind::NonInviteServer:
      return "non_invite_server";
  }
  return "?";
}

const char* toString(TxnState s) {
  switch (s) {
    case TxnState::Calling:
      return "Calling";
    case TxnState::Trying:
      return "Trying";
    case TxnState::Proceeding:
      return "Proceeding";
    case TxnState::Completed:
      return "Completed";
    case TxnState::Confirmed:
      return "Confirmed";
    case TxnState::Accepted:
      return "Accepted";
    case TxnState::Terminated:
      return "Terminated";
  }
  return "?";
}

const char* toString(TimerId t) {
  switch (t) {
    case TimerId::A:
      return "A";
    case TimerId::B:
      return "B";
    case TimerId::C:
      return "C";
    case TimerId::D:
      return "D";
    case TimerId::E:
      return "E";
    case TimerId::F:
      return "F";
    case TimerId::G:
      return "G";
    case TimerId::H:
      return "H";
    case TimerId::I:
      return "I";
    case TimerId::J:
      return "J";
    case TimerId::K:
      return "K";
    case TimerId::L:
      return "L";
    case TimerId::M:
      return "M";
    case TimerId::Trying100:
      return "Trying100";
    case TimerId::ServerGuard:
      return "ServerGuard";
  }
  return "?";
}

}  // namespace sbc::txn
