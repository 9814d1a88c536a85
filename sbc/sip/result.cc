#include "sbc/sip/result.h"

namespace sbc::sip {

ErrorStatus errorStatus(ParseError e) {
  switch (e) {
    case ParseError::Ok:
      return {0, "OK"};
    case ParseError::Missing:
      return {400, "Missing Header"};
    case ParseError::Empty:
    case ParseError::BadStartLine:
    case ParseError::BadStatusCode:
    case ParseError::IncompleteHeaders:
    case ParseError::NoUsableVia:
    case ParseError::ResponseUnusable:
      return {-1, "Discard"};
    case ParseError::BadVersion:
      return {505, "Version Not Supported"};
    case ParseError::BadRequestLine:
      return {400, "Malformed Request-Line"};
    case ParseError::BadRequestUri:
      return {400, "Bad Request-URI"};
    case ParseError::BadHeaderLine:
      return {400, "Malformed Header Line"};
    case ParseError::TooManyHeaders:
      return {400, "Too Many Headers"};
    case ParseError::BadContentLength:
      return {400, "Bad Content-Length"};
    case ParseError::MultipleContentLength:
      return {400, "Multiple Content-Length"};
    case ParseError::BodyTooShort:
      return {400, "Content-Length Exceeds Message"};
    case ParseError::MissingContentLength:
      return {400, "Missing Content-Length"};
    case ParseError::BadVia:
      return {400, "Bad Via"};
    case ParseError::BadFrom:
      return {400, "Bad From"};
    case ParseError::BadTo:
      return {400, "Bad To"};
    case ParseError::BadCallId:
      return {400, "Bad Call-ID"};
    case ParseError::BadCSeq:
      return {400, "Bad CSeq"};
    case ParseError::BadMaxForwards:
      return {400, "Bad Max-Forwards"};
    case ParseError::BadContact:
      return {400, "Bad Contact"};
    case ParseError::BadRoute:
      return {400, "Bad Route"};
    case ParseError::BadRecordRoute:
      return {400, "Bad Record-Route"};
    case ParseError::BadContentType:
      return {400, "Bad Content-Type"};
    case ParseError::BadHeaderValue:
      return {400, "Bad Header Value"};
    case ParseError::MissingHeader:
      return {400, "Missing Mandatory Header"};
    case ParseError::DuplicateHeader:
      return {400, "Duplicate Single-Value Header"};
    case ParseError::CSeqMethodMismatch:
      return {400, "CSeq Method Mismatch"};
    case ParseError::EscapedHeadersInRequestUri:
      return {400, "Headers In Request-URI"};
    case ParseError::BadDate:
      return {400, "Bad Date"};
    case ParseError::UnsupportedUriScheme:
      return {416, "Unsupported URI Scheme"};
    case ParseError::BadExtension:
      return {420, "Bad Extension"};
    case ParseError::UnsupportedMediaType:
      return {415, "Unsupported Media Type"};
    case ParseError::NotAcceptable:
      return {406, "Not Acceptable"};
    case ParseError::TooManyHops:
      return {483, "Too Many Hops"};
    case ParseError::MethodNotAllowed:
      return {405, "Method Not Allowed"};
    case ParseError::NotImplemented:
      return {501, "Not Implemented"};
  }
  return {400, "Bad Request"};
}

bool isDiscard(ParseError e) {
  return errorStatus(e).code < 0;
}

std::string_view toString(ParseError e) {
  switch (e) {
    case ParseError::Ok:
      return "ok";
    case ParseError::Missing:
      return "missing";
    case ParseError::Empty:
      return "empty";
    case ParseError::BadStartLine:
      return "bad_start_line";
    case ParseError::BadStatusCode:
      return "bad_status_code";
    case ParseError::IncompleteHeaders:
      return "incomplete_headers";
    case ParseError::NoUsableVia:
      return "no_usable_via";
    case ParseError::ResponseUnusable:
      return "response_unusable";
    case ParseError::BadVersion:
      return "bad_version";
    case ParseError::BadRequestLine:
      return "bad_request_line";
    case ParseError::BadRequestUri:
      return "bad_request_uri";
    case ParseError::BadHeaderLine:
      return "bad_header_line";
    case ParseError::TooManyHeaders:
      return "too_many_headers";
    case ParseError::BadContentLength:
      return "bad_content_length";
    case ParseError::MultipleContentLength:
      return "multiple_content_length";
    case ParseError::BodyTooShort:
      return "body_too_short";
    case ParseError::MissingContentLength:
      return "missing_content_length";
    case ParseError::BadVia:
      return "bad_via";
    case ParseError::BadFrom:
      return "bad_from";
    case ParseError::BadTo:
      return "bad_to";
    case ParseError::BadCallId:
      return "bad_call_id";
    case ParseError::BadCSeq:
      return "bad_cseq";
    case ParseError::BadMaxForwards:
      return "bad_max_forwards";
    case ParseError::BadContact:
      return "bad_contact";
    case ParseError::BadRoute:
      return "bad_route";
    case ParseError::BadRecordRoute:
      return "bad_record_route";
    case ParseError::BadContentType:
      return "bad_content_type";
    case ParseError::BadHeaderValue:
      return "bad_header_value";
    case ParseError::MissingHeader:
      return "missing_header";
    case ParseError::DuplicateHeader:
      return "duplicate_header";
    case ParseError::CSeqMethodMismatch:
      return "cseq_method_mismatch";
    case ParseError::EscapedHeadersInRequestUri:
      return "escaped_headers_in_ruri";
    case ParseError::BadDate:
      return "bad_date";
    case ParseError::UnsupportedUriScheme:
      return "unsupported_uri_scheme";
    case ParseError::BadExtension:
      return "bad_extension";
    case ParseError::UnsupportedMediaType:
      return "unsupported_media_type";
    case ParseError::NotAcceptable:
      return "not_acceptable";
    case ParseError::TooManyHops:
      return "too_many_hops";
    case ParseError::MethodNotAllowed:
      return "method_not_allowed";
    case ParseError::NotImplemented:
      return "not_implemented";
  }
  return "unknown";
}

}  // namespace sbc::sip
